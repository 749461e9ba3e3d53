return scenario {
  id = "H-REQUIRE-PATH", title = "require of a path",
  run = function(w)
    require "../../../etc/passwd"
  end,
}
