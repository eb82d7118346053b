/**
 * The server's one loopback rule: which bind addresses may run without an
 * access token, and which `Host` headers a request may carry (DNS-rebinding
 * defence). Both decisions use {@linkcode isLoopbackHost}, so a server
 * bound to a loopback address also accepts requests addressed to it.
 *
 * @module
 */

/** One IPv4 octet, 0–255, in its canonical spelling (no leading zeros). */
const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
/** 127.0.0.0/8 (RFC 1122 §3.2.1.3), dotted-quad only. */
const LOOPBACK_V4 = new RegExp(`^127(?:\\.${OCTET}){3}$`);

/**
 * Whether a host name (no port) is loopback: `localhost`, an address in
 * 127.0.0.0/8 written as four canonical decimal octets, or `::1` (bare or
 * bracketed). Anything else is not, including other spellings of those
 * addresses (`127.1`, `0x7f.0.0.1`, `::ffff:127.0.0.1`, `localhost.`): a
 * name the rule does not know needs the access token.
 *
 * @param host A host name without port.
 * @returns Whether it names this machine's loopback interface.
 * @example Check
 * ```ts
 * import { isLoopbackHost } from "./loopback.ts";
 * isLoopbackHost("127.0.0.1"); // true
 * isLoopbackHost("127.0.0.256"); // false
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  return name === "localhost" || name === "::1" || name === "[::1]" ||
    LOOPBACK_V4.test(name);
}

/**
 * The `Host` header values the server accepts: the loopback names with the
 * port, plus the bind host itself unless it is a wildcard (`0.0.0.0`, `::`)
 * or already listed.
 *
 * @param bindHost The host the server is bound to.
 * @param port The bound port.
 * @returns Lower-case `host:port` strings.
 * @example Hosts
 * ```ts
 * import { allowedHosts } from "./loopback.ts";
 * allowedHosts("127.0.0.1", 8787); // ["127.0.0.1:8787", "localhost:8787", "[::1]:8787"]
 * ```
 */
export function allowedHosts(bindHost: string, port: number): string[] {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  if (bindHost !== "0.0.0.0" && bindHost !== "::") {
    const name = bindHost.includes(":") && !bindHost.startsWith("[")
      ? `[${bindHost}]`
      : bindHost;
    const host = `${name.toLowerCase()}:${port}`;
    if (!hosts.includes(host)) hosts.push(host);
  }
  return hosts;
}
