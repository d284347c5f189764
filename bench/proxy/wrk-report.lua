-- wrk script of scripts/bench.sh proxy.
-- WRK_TARGETS="ip:port,ip:port,..." (the "no proxy" floor): thread i connects straight to
-- target i (mod n) instead of the URL's address, so the floor spreads over the same three
-- backends a Service would. done() prints one JSON line with the figures the report needs.
local targets = {}
local next_thread = 0

function setup(thread)
   local env = os.getenv("WRK_TARGETS")
   if env == nil or env == "" then
      return
   end
   if #targets == 0 then
      for t in string.gmatch(env, "[^,]+") do
         local host, port = t:match("^([^:]+):(%d+)$")
         table.insert(targets, wrk.lookup(host, port)[1])
      end
   end
   thread.addr = targets[(next_thread % #targets) + 1]
   next_thread = next_thread + 1
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "rps": %.1f, "p50_us": %.1f, "p90_us": %.1f, ' ..
      '"p99_us": %.1f, "p999_us": %.1f, "mean_us": %.1f, "max_us": %.1f, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.mean, latency.max,
      e.connect, e.read, e.write, e.status, e.timeout))
end
