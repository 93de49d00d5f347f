-- bench/walk.lua — a wrk script that requests each path of a file once.
--
-- WALK_PATHS names the file (one path a line, e.g. /news/123/some-slug);
-- WALK_THREADS is wrk's -t (each thread takes every WALK_THREADS-th path).
-- No path is requested twice: with distinct story pages on a freshly
-- started server, every request is a page the server has not rendered yet.
--
-- wrk's clock runs for all of -d, whatever the script does; so each thread,
-- once it has the answer to its last path, appends "<seconds> <answers>" (its
-- own time from start to last answer) to the file WALK_DONE and stops. The
-- caller waits for WALK_THREADS lines, ends wrk with SIGINT (as Ctrl-C does)
-- and computes requests/s from those lines. Give a -d longer than the walk.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } walk_timespec;
int clock_gettime(int clk_id, walk_timespec *tp);
]]
local function now()
   local t = ffi.new("walk_timespec")
   ffi.C.clock_gettime(1, t) -- CLOCK_MONOTONIC
   return tonumber(t.tv_sec) + tonumber(t.tv_nsec) / 1e9
end

local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
end

local paths = {}
local i, mine, received, started
local verified = false

function init(args)
   local step = tonumber(os.getenv("WALK_THREADS") or "1")
   local n = 0
   for line in io.lines(os.getenv("WALK_PATHS")) do
      if line ~= "" then
         if n % step == (id or 0) then
            paths[#paths + 1] = line
         end
         n = n + 1
      end
   end
   i, mine, received = 1, #paths, 0
   started = now()
end

function request()
   -- wrk calls this once before the run to check the request; that one is
   -- never sent, so it does not use up a path.
   if not verified then
      verified = true
      return wrk.format("GET", paths[1] or "/healthz")
   end
   -- Two connections can both be let through by delay() for the last path:
   -- the second asks for the liveness probe (its answer is not counted below).
   local path = paths[i] or "/healthz"
   i = i + 1
   return wrk.format("GET", path)
end

-- Connections with nothing left to ask wait (far longer than the run).
function delay()
   if i > mine then
      return 3600000
   end
   return 0
end

function response(status, headers, body)
   if body == "ok" then
      return -- /healthz
   end
   received = received + 1
   if received == mine then
      local f = io.open(os.getenv("WALK_DONE"), "a")
      f:write(string.format("%.6f %d\n", now() - started, received))
      f:close()
      wrk.thread:stop()
   end
end
