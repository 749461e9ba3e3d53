-- Lua runs finalisers with hooks off: a loop there would outrun the budget.
return scenario {
  id = "H-GC-LOOP", title = "a finaliser that never ends",
  run = function(w)
    setmetatable({}, { __gc = function() while true do end end })
  end,
}
