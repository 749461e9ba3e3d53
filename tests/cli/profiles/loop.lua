-- A profile that loops: 30 million instructions before its table.
for i = 1, 30000000 do end
return {}
