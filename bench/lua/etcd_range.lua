-- wrk script: etcd v3 JSON gateway read of one key, POST /v3/kv/range {"key": base64(BENCH_KEY)}.
-- BENCH_SERIALIZABLE=1 adds "serializable": true (a local read without the raft ReadIndex round,
-- the closest match to a Consul agent's default read). The request is fixed (built once by wrk).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local C = dofile(here .. "common.lua")
local key = assert(os.getenv("BENCH_KEY"), "BENCH_KEY is not set")
wrk.method = "POST"
wrk.path = "/v3/kv/range"
wrk.headers["Content-Type"] = "application/json"
if C.env("BENCH_SERIALIZABLE", "0") == "1" then
   wrk.body = '{"key":"' .. C.base64(key) .. '","serializable":true}'
else
   wrk.body = '{"key":"' .. C.base64(key) .. '"}'
end
done = C.done
