import 'reflect-metadata';
import { buildGatewaySchema } from '/work/main/gateway/graphql/build-schema.js';
import { isLeafType, getNamedType } from 'graphql';
const s = await buildGatewaySchema();
for (const tn of ['Container','ContainerConnection','Node','Meta','Group']) {
  const t: any = s.getType(tn); if (!t) continue;
  const f = t.getFields();
  console.log(tn, Object.entries(f).map(([k,v]: any)=>`${k}:${String(v.type)}${v.resolve?'*':''}${isLeafType(getNamedType(v.type))?'':'(obj)'}`).join(' '));
}
console.log(String((s.getType('Container') as any).getFields().name.resolve));
