-- No policy declared: one run, an empty w.policy unless --policy pins one.
return scenario {
  id = "MX-02", title = "declares nothing", operation = "issue",
  run = function(w)
    local n = 0
    for k, v in pairs(w.policy) do n = n + 1 print("pinned: " .. k .. "=" .. tostring(v)) end
    expect(n >= 0, "w.policy is a table").is_true()
  end,
}
