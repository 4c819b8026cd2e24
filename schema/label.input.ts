import { MaxLength, MinLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';
import { badInput } from '../core/errors.js';

@InputType({ description: 'A key/value label.' })
export class LabelInput {
  @Field(() => String, { description: 'The label key.' })
  @MinLength(1)
  @MaxLength(255)
  key!: string;

  @Field(() => String, { description: 'The label value.' })
  @MaxLength(4096)
  value!: string;
}

/** Labels as a record; a key given twice is BAD_USER_INPUT. */
export function labelRecord(labels: readonly LabelInput[], field = 'labels'): Record<string, string> {
  const record: Record<string, string> = {};
  for (const { key, value } of labels) {
    if (Object.hasOwn(record, key)) throw badInput(`label ${JSON.stringify(key)} is given twice`, field);
    record[key] = value;
  }
  return record;
}
