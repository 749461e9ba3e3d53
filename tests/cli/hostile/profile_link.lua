-- A profile name that is a symlink out of the fixture tree (the test
-- plants fixtures/profiles/leak.lua -> a file outside).
return scenario {
  id = "H-PROFILE-LINK", title = "profile= through a symlink out of the fixtures",
  run = function(w)
    assert(w:open("sim:card?profile=profiles/leak.lua"))
  end,
}
