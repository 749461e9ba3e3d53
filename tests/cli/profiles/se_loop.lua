-- An SE profile (every field optional) that loops before its table.
for i = 1, 30000000 do end
return {}
