-- A profile that takes 256 MiB (doubling a string) before its table.
local s = "x"
for i = 1, 28 do s = s .. s end
return {}
