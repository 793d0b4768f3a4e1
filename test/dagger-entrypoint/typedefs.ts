/**
 * Reads back what a module registered: the module id the runtime returned stands for a chain of
 * `module.withDescription(...).withObject(object: ID)`, each ID the chain of calls that built it
 * (`typeDef.withObject(...).withFunction(function: ID)...`, `function(...).withArg(...)...`). This
 * turns those chains into plain values a test can compare with a table. Any call it does not know
 * fails loudly: a new kind of registration must be looked at, not ignored.
 */
import type { ArgValue, Call, Chain, FakeEngine } from "../support/fake-engine.js";

export interface SourceLocation {
  file: string;
  line: number;
}

export interface RegisteredArg {
  /** e.g. "String", "Secret?", "[String]?" — a trailing "?" marks an optional type. */
  type: string;
  description: string;
  /** The default the engine fills in, decoded from its JSON; absent when there is none. */
  default?: unknown;
  defaultPath?: string;
  ignore?: ArgValue;
  location: SourceLocation;
}

export interface RegisteredFunction {
  returns: string;
  description: string;
  /** The cache policy sent with withCachePolicy, e.g. "Never"; absent when none was sent. */
  cache?: string;
  check: boolean;
  args: Record<string, RegisteredArg>;
  location?: SourceLocation;
}

export interface RegisteredObject {
  description: string;
  location: SourceLocation;
  fields: string[];
  /** What the constructor returns (the object itself) and takes. */
  constructorReturns?: string;
  constructorArgs: Record<string, RegisteredArg>;
  functions: Record<string, RegisteredFunction>;
}

export interface RegisteredModule {
  description?: string;
  objects: Record<string, RegisteredObject>;
}

const KINDS: Record<string, string> = {
  STRING: "String",
  STRING_KIND: "String",
  BOOLEAN: "Boolean",
  BOOLEAN_KIND: "Boolean",
  INTEGER: "Int",
  INTEGER_KIND: "Int",
  FLOAT: "Float",
  FLOAT_KIND: "Float",
  VOID: "Void",
  VOID_KIND: "Void",
};

const OBJECT_MEMBERS = new Set(["withFunction", "withField", "withConstructor"]);

function unexpected(engine: FakeEngine, call: Call, where: string): never {
  throw new Error(`unexpected ${where} call: ${engine.render([call])}`);
}

export function decodeModule(engine: FakeEngine, moduleId: string): RegisteredModule {
  const module: RegisteredModule = { objects: {} };
  const [root, ...calls] = engine.chainOf(moduleId);
  if (root?.field !== "module") throw new Error(`not a module: ${engine.render(engine.chainOf(moduleId))}`);
  for (const call of calls) {
    if (call.field === "withDescription") module.description = String(call.args["description"]);
    else if (call.field === "withObject") {
      const [name, object] = decodeObject(engine, engine.chainOf(String(call.args["object"])));
      module.objects[name] = object;
    } else unexpected(engine, call, "module");
  }
  return module;
}

function decodeObject(engine: FakeEngine, chain: Chain): [string, RegisteredObject] {
  const [root, definition, ...calls] = chain;
  if (root?.field !== "typeDef" || definition?.field !== "withObject") {
    throw new Error(`not an object type: ${engine.render(chain)}`);
  }
  const object: RegisteredObject = {
    description: String(definition.args["description"] ?? ""),
    location: decodeSource(engine, definition.args["sourceMap"]),
    fields: [],
    constructorArgs: {},
    functions: {},
  };
  for (const call of calls) {
    const id = String(call.args["function"]);
    if (call.field === "withFunction") {
      const [name, fn] = decodeFunction(engine, engine.chainOf(id));
      object.functions[name] = fn;
    } else if (call.field === "withConstructor") {
      const [, creator] = decodeFunction(engine, engine.chainOf(id));
      object.constructorReturns = creator.returns;
      object.constructorArgs = creator.args;
    } else if (call.field === "withField") {
      object.fields.push(String(call.args["name"]));
    } else unexpected(engine, call, "object");
  }
  return [String(definition.args["name"]), object];
}

function decodeFunction(engine: FakeEngine, chain: Chain): [string, RegisteredFunction] {
  const [definition, ...calls] = chain;
  if (definition?.field !== "function") throw new Error(`not a function: ${engine.render(chain)}`);
  const fn: RegisteredFunction = {
    returns: decodeType(engine, String(definition.args["returnType"])),
    description: "",
    check: false,
    args: {},
  };
  for (const call of calls) {
    switch (call.field) {
      case "withDescription":
        fn.description = String(call.args["description"]);
        break;
      case "withSourceMap":
        fn.location = decodeSource(engine, call.args["sourceMap"]);
        break;
      case "withArg":
        fn.args[String(call.args["name"])] = decodeArg(engine, call);
        break;
      case "withCachePolicy":
        if (call.args["timeToLive"] !== undefined) unexpected(engine, call, "function");
        fn.cache = String(call.args["policy"]);
        break;
      case "withCheck":
        fn.check = true;
        break;
      default:
        unexpected(engine, call, "function");
    }
  }
  return [String(definition.args["name"]), fn];
}

function decodeArg(engine: FakeEngine, call: Call): RegisteredArg {
  const { name, typeDef, description, sourceMap, defaultValue, defaultPath, ignore, ...rest } = call.args;
  if (Object.keys(rest).length > 0) unexpected(engine, call, "argument");
  void name;
  const arg: RegisteredArg = {
    type: decodeType(engine, String(typeDef)),
    description: String(description ?? ""),
    location: decodeSource(engine, sourceMap),
  };
  if (defaultValue !== undefined) arg.default = JSON.parse(String(defaultValue));
  if (defaultPath !== undefined) arg.defaultPath = String(defaultPath);
  if (ignore !== undefined) arg.ignore = ignore;
  return arg;
}

/** `typeDef.withListOf(elementType: <typeDef.withKind(kind: STRING)>).withOptional(optional: true)` → "[String]?". */
function decodeType(engine: FakeEngine, id: string): string {
  const [root, ...calls] = engine.chainOf(id);
  if (root?.field !== "typeDef") throw new Error(`not a type: ${engine.render(engine.chainOf(id))}`);
  let type = "";
  let optional = false;
  for (const call of calls) {
    if (call.field === "withKind")
      type = KINDS[String(call.args["kind"])] ?? unexpected(engine, call, "type");
    else if (call.field === "withObject") type = String(call.args["name"]);
    else if (call.field === "withListOf") type = `[${decodeType(engine, String(call.args["elementType"]))}]`;
    else if (call.field === "withOptional") optional = call.args["optional"] === true;
    // A constructor returns its object as registered so far: the name is what matters.
    else if (OBJECT_MEMBERS.has(call.field) && !type.startsWith("[")) continue;
    else unexpected(engine, call, "type");
  }
  return optional ? `${type}?` : type;
}

function decodeSource(engine: FakeEngine, id: ArgValue | undefined): SourceLocation {
  const chain = engine.chainOf(String(id));
  const [map, ...rest] = chain;
  if (map?.field !== "sourceMap" || rest.length > 0)
    throw new Error(`not a source map: ${engine.render(chain)}`);
  return { file: String(map.args["filename"]), line: Number(map.args["line"]) };
}
