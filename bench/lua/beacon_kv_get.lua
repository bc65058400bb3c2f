-- wrk script: Beacon (Consul API) KV read of one key, GET /v1/kv/<BENCH_KEY>, keep-alive.
-- The request is fixed, so wrk builds it once (no per-request Lua).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local C = dofile(here .. "common.lua")
wrk.method = "GET"
wrk.path = "/v1/kv/" .. assert(os.getenv("BENCH_KEY"), "BENCH_KEY is not set")
done = C.done
