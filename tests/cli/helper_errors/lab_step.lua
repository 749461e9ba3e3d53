-- The lab's own helper raising inside a step of the scenario's own: the
-- line inside the callback comes first, not the line of step().
local lab = require "lab"

return scenario {
  id = "HELPER-IN-STEP", title = "a lab helper raising inside step()",
  run = function(w)
    expect(lab.holder("alice")).is "alice"
    step("convert", function()
      lab.checked_hex(7)
    end)
  end,
}
