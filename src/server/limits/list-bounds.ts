import { updateInputFieldNames } from '../../model/api-names.js';
import type { RelationshipSchema } from '../../model/model.js';

/**
 * Sizes the relationship schema bounds for lists the SDL gives no `first`: a content field that
 * is an array with `maxItems` (Cluster `labels`), and the console's lists of the schema's own
 * names (kinds, update input fields). Keyed `Type.field`, as the cost estimate looks them up.
 */
export function scalarListBounds(schema: RelationshipSchema): Map<string, number> {
  const bounds = new Map<string, number>();
  for (const kind of schema.kinds.values()) {
    for (const [field, def] of Object.entries(kind.fields)) {
      if (def.type === 'array' && typeof def.maxItems === 'number') bounds.set(`${kind.name}.${field}`, def.maxItems);
    }
  }
  const kinds = [...schema.kinds.values()];
  bounds.set('IntegrityOverview.kinds', kinds.length);
  bounds.set('KindApi.updateInputFields', Math.max(0, ...kinds.map((k) => updateInputFieldNames(k).length)));
  return bounds;
}
