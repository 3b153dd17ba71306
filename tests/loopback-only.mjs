// Preload for reference servers that listen on every interface (server-everything calls
// app.listen(PORT) with no host): `node --import ./loopback-only.mjs ...` binds every TCP listener to
// 127.0.0.1 instead and prints "LISTENING http://127.0.0.1:<port>" on stdout once it is bound, so
// PORT=0 (a free port chosen by the OS) can be used without a race.
import net from "node:net";

const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function (...args) {
  const [first] = args;
  if (typeof first === "number" || (typeof first === "string" && first !== "" && !Number.isNaN(Number(first)))) {
    if (typeof args[1] === "string") {
      args[1] = "127.0.0.1";
    } else {
      args.splice(1, 0, "127.0.0.1");
    }
  } else if (first !== null && typeof first === "object" && "port" in first) {
    args[0] = { ...first, host: "127.0.0.1" };
  }

  this.once("listening", () => {
    const address = this.address();
    if (address && typeof address === "object") {
      process.stdout.write(`LISTENING http://127.0.0.1:${address.port}\n`);
    }
  });
  return listen.apply(this, args);
};
