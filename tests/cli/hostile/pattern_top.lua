-- The same, at the top level: it used to hang `run` and `list`.
string.find(string.rep("a", 30000), ".-.-.-.-.-b")
return scenario { id = "H-PATTERN-TOP", title = "never loads", run = function() end }
