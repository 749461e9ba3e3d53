return scenario {
  id = "H-PACKAGE", title = "package.path rewritten",
  run = function(w)
    package.path = "/tmp/?.lua;" .. package.path
  end,
}
