-- wrk script: GET the URL given on the command line (e.g. /v1/health/service/web) as fast as the
-- connections allow; only adds the summary line bench/http_compare.sh parses.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local C = dofile(here .. "common.lua")
done = C.done
