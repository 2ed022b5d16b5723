// Evaluates a polkit rules file the way polkitd does (polkit.addRule with action/subject
// objects) against a table of requests, and checks which ones get polkit.Result.YES.
// Usage: node harness.js RULES_FILE [--expect-broken]
// Exit status: 0 all cases as expected; 1 some case wrong; 2 the harness itself failed.
// With --expect-broken the meaning of 0 and 1 is swapped: a negative control passes when the
// harness catches it.
"use strict";
const fs = require("fs");
const vm = require("vm");

const RESULT = Object.freeze({
  NO: "no", YES: "yes", AUTH_SELF: "auth_self", AUTH_SELF_KEEP: "auth_self_keep",
  AUTH_ADMIN: "auth_admin", AUTH_ADMIN_KEEP: "auth_admin_keep", NOT_HANDLED: null,
});
const MANAGE = "org.freedesktop.systemd1.manage-units";

function loadRules(path) {
  const rules = [];
  const polkit = {
    Result: RESULT,
    addRule(fn) { rules.push(fn); },
    addAdminRule() {},
    log() {},
    spawn() { throw new Error("spawn is not available in the harness"); },
  };
  // A fresh context holding only `polkit`, as polkitd gives each rules file (its engine, duktape,
  // is ES5: the rules file must not use later syntax).
  vm.runInNewContext(fs.readFileSync(path, "utf8"), { polkit }, { filename: path, timeout: 1000 });
  return rules;
}

function makeAction(id, details) {
  return { id, lookup(key) { return Object.prototype.hasOwnProperty.call(details, key) ? details[key] : undefined; } };
}

function makeSubject(user) {
  return { user, pid: 4242, groups: [user], seat: "", session: "", local: false, active: false,
           isInGroup(g) { return g === user; }, isInNetGroup() { return false; } };
}

// Mirrors polkitd: the first rule returning a result other than null/undefined decides.
function decide(rules, action, subject) {
  for (const rule of rules) {
    const r = rule(action, subject);
    if (r !== undefined && r !== null) return r;
  }
  return RESULT.NOT_HANDLED;
}

const unit = (verb, unitName) => {
  const d = { verb };
  if (unitName !== undefined) d.unit = unitName;
  return d;
};
// [description, user, action id, details, expected YES?]
const CASES = [
  ["monsys-action restarts nginx.service", "monsys-action", MANAGE, unit("restart", "nginx.service"), true],
  ["monsys-action restarts an instance unit", "monsys-action", MANAGE, unit("restart", "app@blue.service"), true],
  ["monsys-action restarts a template instance of this product", "monsys-action", MANAGE, unit("restart", "monsys-restart@accapp.service"), true],
  ["monsys-action restarts poweroff.target", "monsys-action", MANAGE, unit("restart", "poweroff.target"), false],
  ["monsys-action restarts reboot.target", "monsys-action", MANAGE, unit("restart", "reboot.target"), false],
  ["monsys-action restarts foo.slice", "monsys-action", MANAGE, unit("restart", "foo.slice"), false],
  ["monsys-action restarts foo.mount", "monsys-action", MANAGE, unit("restart", "foo.mount"), false],
  ["monsys-action restarts foo.socket", "monsys-action", MANAGE, unit("restart", "foo.socket"), false],
  ["monsys-action restarts foo.timer", "monsys-action", MANAGE, unit("restart", "foo.timer"), false],
  ["monsys-action restarts init.scope", "monsys-action", MANAGE, unit("restart", "init.scope"), false],
  ["monsys-action restarts a bare template getty@.service", "monsys-action", MANAGE, unit("restart", "getty@.service"), false],
  ["monsys-action restarts a bare template @.service", "monsys-action", MANAGE, unit("restart", "@.service"), false],
  ["monsys-action restarts .service (no name)", "monsys-action", MANAGE, unit("restart", ".service"), false],
  ["monsys-action restarts nginx.service.bak", "monsys-action", MANAGE, unit("restart", "nginx.service.bak"), false],
  ["monsys-action restarts nginx (no suffix)", "monsys-action", MANAGE, unit("restart", "nginx"), false],
  ["monsys-action restarts NGINX.SERVICE (case)", "monsys-action", MANAGE, unit("restart", "NGINX.SERVICE"), false],
  ["monsys-action restart with a non-string unit", "monsys-action", MANAGE, unit("restart", ["nginx.service"]), false],
  ["monsys-action stops a unit", "monsys-action", MANAGE, unit("stop", "nginx.service"), false],
  ["monsys-action starts a unit", "monsys-action", MANAGE, unit("start", "nginx.service"), false],
  ["monsys-action reload-or-restart", "monsys-action", MANAGE, unit("reload-or-restart", "nginx.service"), false],
  ["monsys-action try-restart", "monsys-action", MANAGE, unit("try-restart", "nginx.service"), false],
  ["monsys-action reloads", "monsys-action", MANAGE, unit("reload", "nginx.service"), false],
  ["monsys-action kills", "monsys-action", MANAGE, unit("kill", "nginx.service"), false],
  ["monsys-action restart with unit undefined", "monsys-action", MANAGE, unit("restart"), false],
  ["monsys-action restart with empty unit", "monsys-action", MANAGE, unit("restart", ""), false],
  ["monsys-action without any details", "monsys-action", MANAGE, {}, false],
  ["monsys-action verb RESTART (case)", "monsys-action", MANAGE, unit("RESTART", "nginx.service"), false],
  ["the agent user monsys restarts", "monsys", MANAGE, unit("restart", "nginx.service"), false],
  ["root restarts (left to other rules)", "root", MANAGE, unit("restart", "nginx.service"), false],
  ["user monsys-action2", "monsys-action2", MANAGE, unit("restart", "nginx.service"), false],
  ["user xmonsys-action", "xmonsys-action", MANAGE, unit("restart", "nginx.service"), false],
  ["user MONSYS-ACTION", "MONSYS-ACTION", MANAGE, unit("restart", "nginx.service"), false],
  ["user monsys-action with trailing space", "monsys-action ", MANAGE, unit("restart", "nginx.service"), false],
  ["user undefined", undefined, MANAGE, unit("restart", "nginx.service"), false],
  ["manage-unit-files", "monsys-action", "org.freedesktop.systemd1.manage-unit-files", unit("restart", "nginx.service"), false],
  ["reload-daemon", "monsys-action", "org.freedesktop.systemd1.reload-daemon", unit("restart", "nginx.service"), false],
  ["set-environment", "monsys-action", "org.freedesktop.systemd1.set-environment", {}, false],
  ["login1 reboot", "monsys-action", "org.freedesktop.login1.reboot", {}, false],
  ["pkexec", "monsys-action", "org.freedesktop.policykit.exec", { program: "/bin/sh" }, false],
  ["prefix of the action id", "monsys-action", "org.freedesktop.systemd1.manage-units.extra", unit("restart", "nginx.service"), false],
];

function main() {
  const args = process.argv.slice(2);
  const expectBroken = args.includes("--expect-broken");
  const file = args.find((a) => !a.startsWith("--"));
  if (!file) { console.error("usage: node harness.js RULES_FILE [--expect-broken]"); return 2; }

  let rules;
  try {
    rules = loadRules(file);
  } catch (e) {
    console.error(`harness: cannot load ${file}: ${e.message}`);
    return 2;
  }
  if (rules.length === 0) { console.error(`harness: ${file} adds no rule`); return 2; }

  let failed = 0;
  for (const [what, user, id, details, wantYes] of CASES) {
    let result;
    try {
      result = decide(rules, makeAction(id, details), makeSubject(user));
    } catch (e) {
      result = `exception: ${e.message}`;
    }
    // The rule must say YES exactly in the allowed cases and otherwise nothing at all: never NO
    // (that would override the host's other rules) and never an auth_* prompt.
    const ok = wantYes ? result === RESULT.YES : result === RESULT.NOT_HANDLED;
    if (!ok) failed++;
    console.log(`${ok ? "ok  " : "FAIL"} ${what}: ${String(result)}${ok ? "" : ` (want ${wantYes ? "yes" : "no decision"})`}`);
  }
  console.log(`${CASES.length - failed} passed, ${failed} failed`);
  if (expectBroken) {
    console.log(failed > 0 ? "negative control caught" : "negative control NOT caught");
    return failed > 0 ? 0 : 1;
  }
  return failed > 0 ? 1 : 0;
}

process.exitCode = main();
