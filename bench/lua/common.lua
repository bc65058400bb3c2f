-- Shared by the bench/lua/*.lua wrk scripts (bench/http_compare.sh): environment knobs, the key and
-- value shapes both servers get, base64 for etcd's JSON gateway, and a machine-readable summary.
--
-- Environment: BENCH_KEY_BYTES (64), BENCH_VALUE_BYTES (256), BENCH_KEY (the key GET scripts read),
-- BENCH_PREFIX (head of the distinct keys PUT scripts write; one per run so keys never repeat).
local M = {}

function M.env(name, default)
   local v = os.getenv(name)
   if v == nil or v == "" then return default end
   return v
end

M.key_bytes = tonumber(M.env("BENCH_KEY_BYTES", "64"))
M.value_bytes = tonumber(M.env("BENCH_VALUE_BYTES", "256"))

-- The value every PUT writes: printable, not one repeated byte, exactly value_bytes long.
function M.value()
   local alphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
   local t = {}
   for i = 1, M.value_bytes do
      local k = ((i * 7919) % #alphabet) + 1
      t[i] = alphabet:sub(k, k)
   end
   return table.concat(t)
end

-- head .. zero-padded counter, exactly key_bytes long (head is cut if it is too long).
function M.key(head, n)
   local digits = M.key_bytes - #head
   if digits < 1 then
      head = head:sub(1, M.key_bytes - 10)
      digits = 10
   end
   return head .. string.format("%0" .. digits .. "d", n)
end

local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local b64c = {}
for i = 1, 64 do b64c[i - 1] = b64:sub(i, i) end

function M.base64(s)
   local out, n = {}, #s
   for i = 1, n, 3 do
      local a, b, c = s:byte(i, i + 2)
      local v = a * 65536 + (b or 0) * 256 + (c or 0)
      local q1 = math.floor(v / 262144) % 64
      local q2 = math.floor(v / 4096) % 64
      local q3 = math.floor(v / 64) % 64
      local q4 = v % 64
      out[#out + 1] = b64c[q1] .. b64c[q2] .. (b and b64c[q3] or "=") .. (c and b64c[q4] or "=")
   end
   return table.concat(out)
end

-- One line that bench/http_compare.sh parses: totals, socket and HTTP errors, latency in µs.
function M.done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRK requests=%d duration_us=%d bytes=%d err_connect=%d err_read=%d err_write=%d " ..
      "err_status=%d err_timeout=%d mean_us=%.1f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d\n",
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
      e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9), latency.max))
end

-- Distinct keys for the PUT scripts: BENCH_PREFIX/t<thread>/<counter>, each key_bytes long. Returns
-- the script's init (wrk calls it once per thread, after setup gave the thread its tid) and
-- next_key(), the next key of that thread. BENCH_PREFIX must be set (checked when the script loads).
function M.key_sequence()
   local prefix = assert(os.getenv("BENCH_PREFIX"), "BENCH_PREFIX is not set")
   local head, n
   local function init(args)
      head = prefix .. "/t" .. (tid or 0) .. "/"
      n = 0
   end
   local function next_key()
      n = n + 1
      return M.key(head, n)
   end
   return init, next_key
end

-- Give every wrk thread its own number, so that per-thread counters make distinct keys.
M.threads = 0
function M.setup(thread)
   thread:set("tid", M.threads)
   M.threads = M.threads + 1
end

return M
