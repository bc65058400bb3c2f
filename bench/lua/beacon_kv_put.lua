-- wrk script: Beacon (Consul API) durable KV writes, PUT /v1/kv/<key> with a BENCH_VALUE_BYTES body;
-- every request writes a new key: BENCH_PREFIX/t<thread>/<counter>, padded to BENCH_KEY_BYTES.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local C = dofile(here .. "common.lua")
local prefix = assert(os.getenv("BENCH_PREFIX"), "BENCH_PREFIX is not set")
local value = C.value()
local headers = {["Content-Type"] = "application/octet-stream"}
local head, n

setup = C.setup

function init(args)
   head = prefix .. "/t" .. (tid or 0) .. "/"
   n = 0
end

function request()
   n = n + 1
   return wrk.format("PUT", "/v1/kv/" .. C.key(head, n), headers, value)
end

done = C.done
