/**
 * A client's use of the types generated from the served document; it compiles only when they are right.
 *
 * It reads the field `result` (the job's result) of the 200 answer (the job done within
 * `Prefer: wait=N`) of POST /api/v1/challenges/complete/{challenge_id}, through the `paths` type
 * of that operation, and requires that result to declare fields of its own: `any`, `unknown` or
 * an open map such as `{ [key: string]: unknown }` do not compile; and it reads `did_beat`, which
 * compiles only when that field is a required boolean.
 */
import type { paths } from "./generated/openapi";

type Completion =
  paths["/api/v1/challenges/complete/{challenge_id}"]["post"]["responses"]["200"]["content"]["application/json"];
type Result = NonNullable<Completion["result"]>;

/** The keys of T that are not index signatures. */
type DeclaredKeys<T> = keyof { [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] };
/** Each check is "ok", or says in tsc's error what is wrong. */
type Ok<Check extends "ok"> = Check;

export type ResultIsNotAny = Ok<0 extends 1 & Result ? "`result` is any" : "ok">;
export type ResultDeclaresFields =
  Ok<[DeclaredKeys<Result>] extends [never] ? "`result` declares no fields (unknown, {} or an open map)" : "ok">;

/** What a results screen reads: compiles only when `did_beat` is always there and a boolean. */
export const didBeat = (result: Result): boolean => result.did_beat;
