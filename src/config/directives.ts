/**
 * The directive table: every directive Redis 7.0's redis.conf knows, with Redis's defaults.
 * Directives tessera does not act on yet are marked `noEffect` (accepted, stored, returned by CONFIG GET).
 */
import type { Directive } from "./directive.ts";
import { logger, type LogLevel } from "../log.ts";

const GB = 1024 * 1024 * 1024;
const LLONG_MAX = Number.MAX_SAFE_INTEGER;

/** All directives, in the order CONFIG REWRITE appends new ones. */
export const DIRECTIVES: Directive[] = [
  { name: "port", type: "int", default: "6379", mutable: true, min: 0, max: 65535 },
  { name: "bind", type: "special", default: "* -::*", mutable: true },
  { name: "dir", type: "string", default: "./", mutable: true },
  { name: "logfile", type: "string", default: "", mutable: false, apply: (_s, v) => void (logger.file = v as string) },
  {
    name: "loglevel",
    type: "enum",
    default: "notice",
    mutable: true,
    values: ["debug", "verbose", "notice", "warning", "nothing"],
    apply: (_s, v) => void (logger.level = v as LogLevel),
  },
  { name: "requirepass", type: "string", default: "", mutable: true },
  { name: "maxclients", type: "int", default: "10000", mutable: true, min: 1, max: 2147483647 },
  { name: "timeout", type: "int", default: "0", mutable: true, min: 0, max: 2147483647 },
  { name: "tcp-keepalive", type: "int", default: "300", mutable: true, min: 0, max: 2147483647 },
  { name: "hz", type: "int", default: "10", mutable: true, min: 0, max: 2147483647 },
  { name: "databases", type: "int", default: "16", mutable: false, min: 1, max: 2147483647 },
  { name: "proto-max-bulk-len", type: "memory", default: "512mb", mutable: true, min: 1024 * 1024, max: LLONG_MAX },
  { name: "client-query-buffer-limit", type: "memory", default: "1gb", mutable: true, min: 1024 * 1024, max: LLONG_MAX },
  { name: "enable-debug-command", type: "enum", default: "no", mutable: false, values: ["no", "yes", "local"] },
  { name: "daemonize", type: "bool", default: "no", mutable: false, noEffect: true },
  { name: "cluster-enabled", type: "bool", default: "no", mutable: false },
  { name: "slowlog-log-slower-than", type: "int", default: "10000", mutable: true, min: -1, max: LLONG_MAX },
  { name: "slowlog-max-len", type: "int", default: "128", mutable: true, min: 0, max: LLONG_MAX },
  { name: "latency-monitor-threshold", type: "int", default: "0", mutable: true, min: 0, max: LLONG_MAX },
];
void GB;
