-- Two switches supported both ways, one fixed: --matrix runs it four
-- times.  It checks that w.policy is the policy its id names, and prints
-- it (the log goes to JUnit's <system-out>).
return scenario {
  id = "MX-01", title = "sees the policy in effect",
  case = 6, operations = { "revoke", "suspend_resume" },
  policy = { delete_applet_on_revoke = "warn" },
  policies = { half_valid = { "block", "erase_revoked" }, revoke_without_card = { false, true } },
  run = function(w)
    local p = w.policy
    expect(p.delete_applet_on_revoke, "the fixed switch").is "warn"
    expect(type(p.revoke_without_card), "a boolean switch is a boolean").is "boolean"
    expect(p.half_valid == "block" or p.half_valid == "erase_revoked", "half_valid set").is_true()
    local seen = string.format("revoke_without_card=%s,half_valid=%s",
                               tostring(p.revoke_without_card), p.half_valid)
    if w.id:find("[", 1, true) then
      expect(w.id, "the id names the policy").is("MX-01[" .. seen .. "]")
    end
    print("seen: " .. seen)
    -- io.open reaches the run directory, named after the id.
    local f = io.open("here.txt", "w")
    expect(f ~= nil, "the run directory is there").is_true()
    if f then f:write(seen) f:close() end
  end,
}
