-- prelude.lua — loaded into every scenario state before the scenario:
-- `scenario { ... }`, `expect(value)` and the world handed to `run`.
-- It receives debug.getinfo, which scenarios themselves do not get, and
-- the policy switches (docs/domain.md#policy-switches) and operations
-- (hil/run/policy.c, the one table that --policy and --matrix use too).
local getinfo, locate, domain = ...
local record, hex = mynahil._record, mynahil.hex

-- The scenario line that called a matcher: level 3 from here is the
-- caller of the matcher.
local function where()
  local i = getinfo(3, "Sl")
  local src = i.source:sub(1, 1) == "@" and i.source:sub(2) or i.short_src
  return src, i.currentline
end

local function show(v)
  if type(v) == "string" then
    if v:find("[^\32-\126]") then return "0x" .. hex(v) end
    return string.format("%q", v)
  elseif math.type(v) == "integer" and v >= 0x6000 and v <= 0x9FFF then
    return string.format("%04X", v)   -- reads as a status word
  elseif type(v) == "table" and v.sw then
    return string.format("response %s%04X", v.hex or "", v.sw)
  end
  return tostring(v)
end

local function sw_of(v)
  if type(v) == "table" then return v.sw end
end

function expect(v, label)
  local m = {}
  -- expect(f()) passes f's results along.  A helper that fails returns
  -- nil and why (as assert() reads io.open's): after a nil, the next
  -- value is the reason the value is missing, shown with it ("got nil
  -- (why)"), never the expect's label.  After anything else a string is
  -- the label, and whatever follows is ignored.
  local why
  if v == nil and label ~= nil then why, label = label, nil end
  local name = type(label) == "string" and (label .. " ") or ""
  local got = why == nil and show(v) or string.format("nil (%s)", type(why) == "string" and why or show(why))
  local function check(ok, what, msg)
    local file, line = where()
    record(file, line, ok and true or false, name .. what, msg)
    return ok and true or false
  end
  function m.is(x)
    return check(v == x, "is " .. show(x), "got " .. got .. ", want " .. show(x))
  end
  function m.isnt(x)
    return check(v ~= x, "isn't " .. show(x), "got " .. got)
  end
  function m.sw(x)
    local sw = sw_of(v)
    return check(sw == x, string.format("sw %04X", x),
      sw and string.format("got %04X, want %04X", sw, x) or "no response: " .. got)
  end
  function m.ok()
    local sw = sw_of(v)
    local ok = (sw == nil and v) or sw == 0x9000
    return check(ok, "ok", "got " .. got)
  end
  function m.fails()
    local sw = sw_of(v)
    local failed = (sw == nil and not v) or (sw ~= nil and sw ~= 0x9000)
    return check(failed, "fails", "unexpectedly succeeded: " .. got)
  end
  function m.matches(p)
    return check(type(v) == "string" and v:find(p) ~= nil, "matches " .. show(p), "got " .. got)
  end
  function m.contains(s)
    return check(type(v) == "string" and v:find(s, 1, true) ~= nil, "contains " .. show(s), "got " .. got)
  end
  function m.len(n)
    local len = (type(v) == "string" or type(v) == "table") and #v or nil
    return check(len == n, "has length " .. n, "length " .. (len and tostring(len) or got))
  end
  function m.gt(x) return check(type(v) == type(x) and v > x, "> " .. show(x), "got " .. got) end
  function m.ge(x) return check(type(v) == type(x) and v >= x, ">= " .. show(x), "got " .. got) end
  function m.lt(x) return check(type(v) == type(x) and v < x, "< " .. show(x), "got " .. got) end
  function m.le(x) return check(type(v) == type(x) and v <= x, "<= " .. show(x), "got " .. got) end
  function m.is_true() return check(v == true, "is true", "got " .. got) end
  function m.is_false() return check(v == false, "is false", "got " .. got) end
  return m
end

local fields = { id = "string", title = "string", run = "function", tags = "table",
                 needs = "table", case = "number", cases = "table", operation = "string",
                 operations = "table", policy = "table", policies = "table", timeout = "number" }

-- Each check below returns an error message, or nil.

-- A non-empty sequence, nothing but 1..n in it.
local function is_list(v)
  if type(v) ~= "table" or #v == 0 then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n == #v
end

-- case = N or cases = { N, ... }: the life-cycle cases 1-15
-- (docs/domain.md#cases).
local function check_cases(t)
  if t.case ~= nil and t.cases ~= nil then return "scenario: give 'case' or 'cases', not both" end
  local list = t.cases or (t.case ~= nil and { t.case }) or {}
  local seen = {}
  for i, c in ipairs(list) do
    if math.type(c) ~= "integer" or c < 1 or c > 15 then
      return string.format("scenario: %s must be a life-cycle case number from 1 to 15 (docs/domain.md#cases), not %s",
                           t.cases and "cases[" .. i .. "]" or "field 'case'", tostring(c))
    end
    if seen[c] then return "scenario: case " .. c .. " given twice" end
    seen[c] = true
  end
  if t.cases and not is_list(t.cases) then
    return "scenario: field 'cases' must be a list of case numbers"
  end
  table.sort(list)
  t.cases, t.case = list, nil
end

-- operation = "name" or operations = { "name", ... }: the seven
-- operations (docs/domain.md#operations).
local function check_operations(t)
  if t.operation ~= nil and t.operations ~= nil then
    return "scenario: give 'operation' or 'operations', not both"
  end
  local list = t.operations or (t.operation ~= nil and { t.operation }) or {}
  local known, seen = {}, {}
  for i, o in ipairs(domain.operations) do known[o] = i end
  if t.operations and not is_list(t.operations) then
    return "scenario: field 'operations' must be a list of operation names"
  end
  for i, o in ipairs(list) do
    if not known[o] then
      return string.format("scenario: unknown operation %s%s; the operations (docs/domain.md#operations) are %s",
                           type(o) == "string" and string.format("'%s'", o) or tostring(o),
                           t.operations and " (operations[" .. i .. "])" or "",
                           table.concat(domain.operations, ", "))
    end
    if seen[o] then return "scenario: operation '" .. o .. "' given twice" end
    seen[o] = true
  end
  table.sort(list, function(a, b) return known[a] < known[b] end)
  t.operations, t.operation = list, nil
end

-- A table's pairs in the order of its keys' names: the first error is
-- the same on every run.
local function sorted_pairs(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local i = 0
  return function()
    i = i + 1
    if keys[i] ~= nil then return keys[i], t[keys[i]] end
  end
end

local function switch_of(k, field)
  local sw = type(k) == "string" and domain.switches[k]
  if not sw then
    return nil, string.format("scenario: %s: unknown policy switch '%s'; the switches (docs/domain.md#policy-switches) are %s",
                              field, tostring(k), table.concat(domain.order, ", "))
  end
  return sw
end

-- A value as written in a scenario: true/false for the boolean switches,
-- the name otherwise.  Returns the value's name, or nil and the message.
local function value_of(sw, k, v, field)
  local name = sw.boolean and type(v) == "boolean" and tostring(v) or
               (not sw.boolean and type(v) == "string" and v) or nil
  if name == sw[1] or name == sw[2] then return name end
  local choices = sw.boolean and (sw[1] .. " or " .. sw[2]) or
                  string.format("\"%s\" or \"%s\"", sw[1], sw[2])
  return nil, string.format("scenario: %s: %s = %s is not a value of the switch; choose %s",
                            field, k, type(v) == "string" and string.format("%q", v) or tostring(v), choices)
end

-- policy = { switch = value }: fixed; policies = { switch = { values } }:
-- every value listed is supported, and --matrix runs each.
local function check_policies(t)
  for k, v in sorted_pairs(t.policy or {}) do
    local sw, why = switch_of(k, "policy")
    if not sw then return why end
    local _, bad = value_of(sw, k, v, "policy")
    if bad then return bad end
  end
  for k, vs in sorted_pairs(t.policies or {}) do
    local sw, why = switch_of(k, "policies")
    if not sw then return why end
    if t.policy and t.policy[k] ~= nil then
      return "scenario: switch '" .. k .. "' is in both 'policy' and 'policies'"
    end
    if not is_list(vs) then
      return "scenario: policies: " .. k .. " must be a list of the values the scenario supports"
    end
    local seen = {}
    for _, v in ipairs(vs) do
      local name, bad = value_of(sw, k, v, "policies")
      if bad then return bad end
      if seen[name] then return "scenario: policies: " .. k .. " lists " .. name .. " twice" end
      seen[name] = true
    end
  end
end

-- Errors name the scenario's own line: level 2 when Lua still knows it,
-- else (after `return scenario {...}`, a tail call) the loader adds it.
local function fail(msg)
  -- levels: 1 fail, 2 the local error, 3 scenario, 4 its caller
  local i = getinfo(4, "l")
  if i and i.currentline > 0 then error(msg, 4) end
  error(msg, 0)
end

-- sim: the card is a simulator; sim:ROLE: that role is one; se_keys:
-- the TSM can open SCP03 sessions on the bound se/se2 (docs/bench.md).
local needs_known = { card = true, se = true, se2 = true, ios = true, tsm = true, ca = true, sim = true,
                      se_keys = true, ["sim:card"] = true, ["sim:se"] = true, ["sim:se2"] = true, ["sim:ios"] = true }

function scenario(t)
  local error = function(msg) fail(msg) end
  if type(t) ~= "table" then error("scenario: takes a table") end
  for k, v in pairs(t) do
    if not fields[k] then error("scenario: unknown field '" .. tostring(k) .. "'") end
    if type(v) ~= fields[k] then
      error(string.format("scenario: field '%s' must be a %s, not a %s", k, fields[k], type(v)))
    end
  end
  for _, k in ipairs { "id", "title", "run" } do
    if t[k] == nil then error("scenario: missing field '" .. k .. "'") end
  end
  -- The id names the run directory and the trace file: no paths in it.
  if #t.id > 64 or not t.id:match("^[%w][%w._-]*$") then
    error("scenario: field 'id' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
  end
  -- Above --timeout it is cut to --timeout: a scenario may only lower it.
  if t.timeout and not (t.timeout >= 1 and t.timeout < math.huge) then
    error("scenario: field 'timeout' must be a number of seconds, at least 1")
  end
  t.tags = t.tags or {}
  for i, tag in ipairs(t.tags) do
    if type(tag) ~= "string" then error("scenario: tags[" .. i .. "] must be a string") end
  end
  t.needs = t.needs or {}
  -- What the runner can meet (hil/run/scenario.c): a typo
  -- would otherwise skip the scenario on every bench, for ever.
  for i, need in ipairs(t.needs) do
    if not needs_known[need] then
      error(string.format("scenario: needs[%d] = %s is not a need; the needs are card, se, se2, ios, tsm, ca, sim, sim:ROLE, se_keys", i,
                          type(need) == "string" and string.format("%q", need) or tostring(need)))
    end
  end
  local why = check_cases(t) or check_operations(t) or check_policies(t)
  if why then error(why) end
  return t
end

-- ---- the invariants: docs/domain.md#invariants, docs/invariants.md ----
-- Libraries register them (scenarios/lib/invariants.lua the five); each
-- fn(w, ctx) returns true, false and what is wrong, or nil when it does
-- not apply to this world.  ctx: step (the label of the step just done),
-- final (the end of the run), links (every link of the run, in the
-- order opened: { name, link }), memo (the invariant's own table, kept
-- from step to step).  Checked at the end of every run (also one that
-- raised an error), and with --paranoid after every step; one with
-- every_step = true after every step always (invariant 5 compares the
-- PIN counters of one step with the last).  A failure lands in the
-- report as "invariant N (docs/domain.md#invariants): what is wrong (after
-- STEP)", STEP "step K, WHAT at FILE:LINE": an expect whose file is
-- docs/domain.md#invariants and whose line is N (RES_INVARIANT_FILE).
local invariants = {}
function mynahil.invariant(n, what, fn, opts)
  invariants[#invariants + 1] = { n = n, what = what, fn = fn, every_step = opts and opts.every_step,
                                  memo = {} }
end

-- Steps: each app flow (app.session), each call that changes the TSM or
-- the CA outside one, each step "name" of the scenario.  A step is named
-- by the scenario line that did it.
local steps = { depth = 0, n = 0, label = "the run, no step in it", checking = false, paranoid = false,
                file = nil, links = {} }

local function scenario_line()
  for level = 3, 200 do
    local i = getinfo(level, "Sl")
    if not i then break end
    if steps.file and i.source == "@" .. steps.file and i.currentline > 0 then
      return steps.file .. ":" .. i.currentline
    end
  end
  return "?"
end

local function check_invariants(final)
  if steps.checking then return end
  steps.checking = true
  -- the oracle's observations are not the scenario's commands: no fault
  -- counts or fires on them (docs/faults.md)
  mynahil._fault_pause(true)
  local w = steps.world
  for _, inv in ipairs(invariants) do
    if final or steps.paranoid or inv.every_step then
      local ctx = { step = steps.label, final = final, links = steps.links, memo = inv.memo,
                    bench = steps.bench }
      local okcall, ok, msg = pcall(inv.fn, w, ctx)
      if not okcall then
        if type(ok) == "table" then steps.checking = false; mynahil._fault_pause(false); error(ok, 0) end  -- a skip, a stop
        ok, msg = false, "could not be checked: " .. tostring(ok)
      end
      if ok ~= nil then
        ok = ok and true or false
        -- A violation is reported at the step that broke it; at the end
        -- every invariant that applies is reported, passed or not.
        msg = tostring(msg or "violated")
        if final or (not ok and inv.broken ~= msg) then
          record("docs/domain.md#invariants", inv.n, ok, inv.what, msg .. " (after " .. steps.label .. ")")
        end
        inv.broken = not ok and msg or nil
      end
    end
  end
  steps.checking = false
  mynahil._fault_pause(false)
end

local function step_done(what, at)
  steps.n = steps.n + 1
  steps.label = string.format("step %d, %s at %s", steps.n, what, at)
  check_invariants(false)
end

-- fn(...) as one step: what names it, the scenario line that called it
-- says where.  Nested flows make one step, the outermost.
function mynahil.flow(what, fn, ...)
  if steps.checking or not steps.world then return fn(...) end
  steps.depth = steps.depth + 1
  local at = steps.depth == 1 and scenario_line()
  -- locate: an error names the scenario's line where it was raised (a
  -- callback of the scenario's own), not only the line that began the flow.
  local r = table.pack(xpcall(fn, locate, ...))
  steps.depth = steps.depth - 1
  if steps.depth == 0 then step_done(what, at) end
  if not r[1] then error(r[2], 0) end
  return table.unpack(r, 2, r.n)
end

-- A link the invariants look at (roles and w:open).
function mynahil._track(name, link)
  if type(link) == "userdata" and link.inspect then
    steps.links[#steps.links + 1] = { name = name, link = link }
    if steps.world then
      -- its first observation (invariant 5's baseline)
      for _, inv in ipairs(invariants) do
        if inv.every_step and inv.observe then inv.observe(inv.memo, name, link) end
      end
    end
  end
  return link
end

-- The scenario's own step boundary: step "name" ends the step it names
-- here; step("name", fn, ...) runs fn as that step.
function step(name, fn, ...)
  name = "step \"" .. tostring(name) .. "\""
  if fn then return mynahil.flow(name, fn, ...) end
  if steps.depth == 0 and not steps.checking then step_done(name, scenario_line()) end
end

-- For an invariant: what it observes when a link joins the run.
function mynahil.invariant_observer(n, fn)
  for _, inv in ipairs(invariants) do
    if inv.n == n then inv.observe = fn end
  end
end

-- mynahil.teardown(what, fn): fn() after the run and its final
-- invariant check, also when the run raised; the last registered first.
-- It leaves a device shared with the scenarios after this one as it was
-- found (scenarios/lib/app.lua).  Its flows are no steps; an error in it
-- is a failed expect naming what.
local teardowns = {}
function mynahil.teardown(what, fn)
  teardowns[#teardowns + 1] = { what = tostring(what), fn = fn }
end

function mynahil._invariants(w)
  steps.world = steps.world or w
  if steps.depth > 0 then   -- the run raised inside a flow
    steps.depth = 0
  end
  check_invariants(true)
  steps.checking = true
  mynahil._fault_pause(true)   -- the teardown is no part of the scenario either
  for i = #teardowns, 1, -1 do
    local ok, err = pcall(teardowns[i].fn)
    if not ok then expect(false, "teardown, " .. teardowns[i].what .. ": " .. tostring(err)).is_true() end
  end
  steps.checking = false
end

-- A service whose state-changing calls are steps (a POST to OCSP is a
-- question, not a change).
local function stepped(s, name)
  local function changes(method, path)
    return method ~= "GET" and method ~= "HEAD" and not tostring(path):match("/ocsp$") and path ~= "/"
  end
  local proxy = {}
  function proxy:call(method, path, ...)
    if changes(method, path) and steps.depth == 0 then
      return mynahil.flow(name .. " " .. method .. " " .. tostring(path), s.call, s, method, path, ...)
    end
    return s:call(method, path, ...)
  end
  function proxy:raw(method, path, ...)
    if changes(method, path) and steps.depth == 0 then
      return mynahil.flow(name .. " " .. method .. " " .. tostring(path), s.raw, s, method, path, ...)
    end
    return s:raw(method, path, ...)
  end
  function proxy:uri() return s:uri() end
  proxy.service = s
  return proxy
end

-- The world a scenario's run function receives: its roles' links, the
-- seed, and skip().
function mynahil._world(roles, info)
  -- profile: what is known of the card bound to "card" (holder, PINs).
  local w = { seed = info.seed, id = info.id, profile = info.profile, policy = info.policy or {},
              keep_devices = info.keep_devices }
  steps.file, steps.paranoid, steps.bench = info.file, info.paranoid and true or false, info.bench
  local names = {}
  for k, v in pairs(roles) do w[k] = v; names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do mynahil._track(k, roles[k]) end
  -- w.tsm and w.ca: the TSM and its CA, in process ("sim") unless bound
  -- (--target tsm=http://HOST:PORT; the CA then is the TSM's, under /ca on
  -- the same port, unless --target ca=... says otherwise).  Made on first use.
  local services = { tsm = { info.tsm or "sim" },
                     ca = info.ca and { info.ca } or { info.tsm or "sim", "/ca" } }
  setmetatable(w, { __index = function(t, k)
    if services[k] then
      local s = stepped(mynahil._service(services[k][1], services[k][2] or "", k), k)
      rawset(t, k, s)
      return s
    end
  end })
  -- Another link in the same run (a second phone, another holder's card).
  -- role: the role it stands for (se, se2, card2), whose faults apply
  -- to it (docs/faults.md).
  local opened = 0
  function w:open(uri, role)
    opened = opened + 1
    local l, why = mynahil._open(uri, self.seed, self.id .. "#" .. opened, role)
    if l then mynahil._track(uri .. "#" .. opened, l) end
    return l, why
  end
  -- w:fault(SPEC, ...) or w:fault{ SPEC, ... }: faults from now on, N
  -- counted from here (docs/faults.md).  Each returns an object whose
  -- :fired() says where it fired, or nil.
  function w:fault(...)
    local specs = select("#", ...) == 1 and type(...) == "table" and ... or { ... }
    local src, line = where()
    local at = src .. ":" .. tostring(line)
    local out = {}
    for i, spec in ipairs(specs) do
      local ok, idx = pcall(mynahil._fault, tostring(spec), at)
      if not ok then error(at .. ": " .. tostring(idx):gsub("^[^:]*:%d+: ", ""), 0) end
      out[i] = { fired = function() return mynahil._fault_fired(idx) end, spec = tostring(spec) }
    end
    return table.unpack(out)
  end
  -- A file of the fixture tree (profiles, PKI): an error if rel leads out.
  function w:fixture(rel) return mynahil.fixture(rel) end
  function w:skip(reason)
    error({ __mynahil_skip = tostring(reason) }, 0)
  end
  steps.world = w
  require "invariants"
  for _, l in ipairs(steps.links) do
    for _, inv in ipairs(invariants) do
      if inv.every_step and inv.observe then inv.observe(inv.memo, l.name, l.link) end
    end
  end
  return w
end
