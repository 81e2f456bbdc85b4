// The exercise catalog's names, loaded once per sign-in.
import { api } from "./api";
import type { Exercise } from "./gen/hep/v1/catalog_pb";

let catalog: Promise<Exercise[]> | undefined;

export function exercises(): Promise<Exercise[]> {
  catalog ??= (async () => {
    const out: Exercise[] = [];
    let pageToken = "";
    do {
      const r = await api.catalog.listExercises({ pageSize: 200, pageToken });
      out.push(...r.exercises);
      pageToken = r.nextPageToken;
    } while (pageToken);
    return out;
  })().catch((e) => {
    catalog = undefined;
    throw e;
  });
  return catalog;
}

export async function exerciseName(id: string): Promise<string> {
  return (await exercises()).find((x) => x.id === id)?.name ?? id;
}

export function resetCatalog() {
  catalog = undefined;
}
