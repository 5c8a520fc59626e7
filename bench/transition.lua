-- wrk script: report_progress on a random hazard of a pool [FIRST, LAST] as the enterprise.
local first = tonumber(os.getenv("FIRST"))
local last = tonumber(os.getenv("LAST"))
local token = os.getenv("TOKEN")
local body = '{"trigger":"report_progress","payload":{"note":"bench","percent":50}}'
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
local counter = 0

request = function()
  counter = counter + 1
  local id = first + (counter * 7919 + math.random(0, last - first)) % (last - first + 1)
  return wrk.format("POST", "/api/v1/hazards/" .. id .. "/transitions", headers, body)
end
