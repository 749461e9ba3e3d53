return scenario {
  id = 7, title = "id is a number", run = function() end,
}
