// Preloaded into the Portkey gateway by bench/gateway/run (`node --import`): Portkey's
// start-server.js calls listen(port) with no host, which listens on every interface. This
// makes a listen() without a host listen on 127.0.0.1 only; nothing else changes.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    if (args.length === 1 || typeof args[1] === "function") {
      args.splice(1, 0, "127.0.0.1");
    } else if (args[1] === undefined || args[1] === null) {
      args[1] = "127.0.0.1";
    }
  } else if (first !== null && typeof first === "object" && first.path === undefined &&
             first.host === undefined && first.port !== undefined) {
    args[0] = { ...first, host: "127.0.0.1" };
  }
  return listen.apply(this, args);
};
