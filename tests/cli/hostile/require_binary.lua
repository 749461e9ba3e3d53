-- binmod.lua beside this file is a malformed binary chunk.
return scenario {
  id = "H-REQUIRE-BINARY", title = "require of a binary chunk",
  run = function(w)
    require "binmod"
  end,
}
