-- 20 x 100 MB (built from 1 MB pieces: a byte-by-byte string.rep is
-- itself slow under the sanitizers).
return scenario {
  id = "H-MEMORY", title = "20 x 100 MB",
  run = function(w)
    local mb, t = string.rep("x", 1024 * 1024), {}
    for i = 1, 20 do t[i] = string.rep(mb, 100) end
  end,
}
