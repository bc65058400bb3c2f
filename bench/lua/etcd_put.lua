-- wrk script: etcd v3 JSON gateway durable writes, POST /v3/kv/put {"key": b64, "value": b64}; the
-- same keys and value as beacon_kv_put.lua (BENCH_PREFIX/t<thread>/<counter>, BENCH_KEY_BYTES long).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local C = dofile(here .. "common.lua")
local prefix = assert(os.getenv("BENCH_PREFIX"), "BENCH_PREFIX is not set")
local value64 = C.base64(C.value())
local headers = {["Content-Type"] = "application/json"}
local head, n

setup = C.setup

function init(args)
   head = prefix .. "/t" .. (tid or 0) .. "/"
   n = 0
end

function request()
   n = n + 1
   return wrk.format("POST", "/v3/kv/put", headers,
                     '{"key":"' .. C.base64(C.key(head, n)) .. '","value":"' .. value64 .. '"}')
end

done = C.done
