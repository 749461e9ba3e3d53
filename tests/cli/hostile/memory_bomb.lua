return scenario {
  id = "H-MEMORY", title = "20 x 100 MB",
  run = function(w)
    local t = {}
    for i = 1, 20 do t[i] = string.rep("x", 100 * 1024 * 1024) end
  end,
}
