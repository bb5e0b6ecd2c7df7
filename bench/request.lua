-- wrk script: send the method and JSON body given after `--`, e.g. `-- PUT '{"a": true}'`.
-- wrk.init runs this init before it formats the request, so every request carries them.
function init(args)
  wrk.method = args[1] or "GET"
  if args[2] ~= nil then
    wrk.body = args[2]
    wrk.headers["Content-Type"] = "application/json"
  end
end
