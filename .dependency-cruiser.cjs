/**
 * Shipyard's import rules, checked by `npm run lint` (dependency-cruiser). The layers, top down:
 *   faces:        src/index.ts, src/dagger/, bin/
 *   commands:     src/commands/
 *   areas:        src/deploy/ (the ECS controller), src/verify/, src/migrations/,
 *                 src/emulator/ (local ECS and Sentry for `shipyard try`)           — never each other
 *   foundation:   src/aws/, src/config/, src/report/                               — never each other
 *   base:         src/clock.ts, src/errors.ts
 * Imports go down only. See ARCHITECTURE.md.
 */
const AREAS = ["deploy", "verify", "migrations", "emulator"];
const FOUNDATION = ["aws", "config", "report"];

const sideways = (group) =>
  group.map((from) => ({
    name: `no-${from}-to-${group.filter((to) => to !== from).join("-or-")}`,
    comment: `src/${from}/ is one of ${group.join(", ")}: they never import each other (compose them one layer up).`,
    severity: "error",
    from: { path: `^src/${from}/` },
    to: { path: `^src/(${group.filter((to) => to !== from).join("|")})/` },
  }));

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "An import circle means two files cannot be read (or loaded) one after the other.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-never-imports-dagger",
      comment:
        "Only src/index.ts and src/dagger/ talk to the Dagger engine; the core runs without it (CLI, tests).",
      severity: "error",
      from: { path: "^(src|bin)/", pathNot: "^src/(index\\.ts|dagger/)" },
      to: { path: "@dagger\\.io/dagger" },
    },
    {
      name: "src-never-imports-bin",
      comment: "bin/ is a face over src/; src/ must not know it.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^bin/" },
    },
    {
      name: "nothing-imports-tests",
      comment: "Test doubles and simulators live in test/; the product never imports them.",
      severity: "error",
      from: { path: "^(src|bin)/" },
      to: { path: "^test/" },
    },
    {
      name: "commands-never-import-faces",
      comment: "src/commands/ serves both faces; it must not depend on either.",
      severity: "error",
      from: { path: "^src/commands/" },
      to: { path: "^src/(index\\.ts|dagger/)" },
    },
    {
      name: "below-commands-never-import-up",
      comment: "The areas and the foundation never import a command or a face.",
      severity: "error",
      from: { path: `^src/(${[...AREAS, ...FOUNDATION].join("|")})/` },
      to: { path: "^src/(commands/|dagger/|index\\.ts)" },
    },
    {
      name: "foundation-never-imports-areas",
      comment: "aws/, config/ and report/ are below deploy/, verify/ and migrations/.",
      severity: "error",
      from: { path: `^src/(${FOUNDATION.join("|")})/` },
      to: { path: `^src/(${AREAS.join("|")})/` },
    },
    {
      name: "base-imports-nothing",
      comment: "src/clock.ts and src/errors.ts are the ground floor.",
      severity: "error",
      from: { path: "^src/(clock|errors)\\.ts$" },
      to: { path: "^src/" },
    },
    ...sideways(AREAS),
    ...sideways(FOUNDATION),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|sdk|examples)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
  },
};
