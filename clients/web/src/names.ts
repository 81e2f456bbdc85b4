// The exercise catalog's names, loaded once per sign-in.
import { api } from "./api";
import type { Exercise } from "./gen/hep/v1/catalog_pb";

let catalog: Promise<Exercise[]> | undefined;

export function exercises(): Promise<Exercise[]> {
  catalog ??= (async () => (await api.catalog.listExercises({})).exercises)().catch((e) => {
    catalog = undefined;
    throw e;
  });
  return catalog;
}

export async function exerciseNames(): Promise<Map<string, string>> {
  return new Map((await exercises()).map((x) => [x.id, x.name]));
}

export function resetCatalog() {
  catalog = undefined;
}
