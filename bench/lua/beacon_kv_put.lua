-- wrk script: Beacon (Consul API) durable KV writes, PUT /v1/kv/<key> with a BENCH_VALUE_BYTES body;
-- every request writes a new key: BENCH_PREFIX/t<thread>/<counter>, padded to BENCH_KEY_BYTES.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local C = dofile(here .. "common.lua")
local value = C.value()
local headers = {["Content-Type"] = "application/octet-stream"}
local next_key

setup = C.setup
init, next_key = C.key_sequence()

function request()
   return wrk.format("PUT", "/v1/kv/" .. next_key(), headers, value)
end

done = C.done
