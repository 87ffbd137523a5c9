-- wrk: each request from the next of CLIENTS addresses, as a proxy in front would say (X-Forwarded-For).
-- At the bench's rates every address stays under the store's production limit (60 a minute).
local CLIENTS = 5000
local i = 0
request = function()
  i = (i + 1) % CLIENTS
  return wrk.format(nil, nil, {["X-Forwarded-For"] = "10.0." .. math.floor(i / 256) .. "." .. (i % 256)})
end
