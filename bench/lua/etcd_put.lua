-- wrk script: etcd v3 JSON gateway durable writes, POST /v3/kv/put {"key": b64, "value": b64}; the
-- same keys and value as beacon_kv_put.lua (BENCH_PREFIX/t<thread>/<counter>, BENCH_KEY_BYTES long).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local C = dofile(here .. "common.lua")
local value64 = C.base64(C.value())
local headers = {["Content-Type"] = "application/json"}
local next_key

setup = C.setup
init, next_key = C.key_sequence()

function request()
   return wrk.format("POST", "/v3/kv/put", headers,
                     '{"key":"' .. C.base64(next_key()) .. '","value":"' .. value64 .. '"}')
end

done = C.done
