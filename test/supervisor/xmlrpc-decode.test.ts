/**
 * The specialised decoder gives exactly what the generic `xmlrpc` package's parser gives: on real
 * responses captured from supervisord (50 programs, config info, faults, escaped text) and on
 * documents the package's own serializer writes; and refuses what it does not understand.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, decodeResponse } from '../../src/supervisor/xmlrpc/decode.js';
import { encodeCall } from '../../src/supervisor/xmlrpc/encode.js';
import { rawCall, startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import { waitUntil } from '../fixtures/processes.js';
import { sleepers } from '../../bench/programs.js';
import {
  genericDecode,
  genericDecodeCall,
  genericSerializer as serializer,
} from '../../bench/generic-decoder.js';

/** The generic parser's result (a fault as `{ faultCode, faultString }`). */
function generic(xml: string): unknown {
  return genericDecode(xml);
}

/** Our result in the same form. */
function specialised(xml: string): unknown {
  const decoded = decodeResponse(xml);
  return decoded.kind === 'value'
    ? decoded.value
    : { faultCode: decoded.code, faultString: decoded.faultString };
}

describe('on real supervisord responses', () => {
  let sup: SupervisordHandle;
  before(async () => {
    sup = await startSupervisord({
      programs: {
        ...sleepers(50),
        odd: `command=sh -c 'echo "a<b & c>d é ✓"; exec sleep 1000'\nautostart=false`,
      },
    });
    await waitUntil(async () => {
      const body = await rawCall(sup.endpoint, 'supervisor.getAllProcessInfo');
      return (body.match(/<string>RUNNING<\/string>/g) ?? []).length === 50 ? true : undefined;
    });
  });
  after(() => sup?.stop());

  for (const method of [
    'supervisor.getAllProcessInfo',
    'supervisor.getAllConfigInfo',
    'supervisor.getState',
    'supervisor.getPID',
    'supervisor.reloadConfig',
    'system.listMethods',
    'supervisor.noSuchMethod',
    'supervisor.getProcessInfo',
  ]) {
    test(`${method}: both decoders agree`, async () => {
      const xml = await rawCall(sup.endpoint, method);
      assert.deepStrictEqual(specialised(xml), generic(xml));
    });
  }

  test('the 50-program getAllProcessInfo is about 58 KB and decodes to 51 entries', async () => {
    const xml = await rawCall(sup.endpoint, 'supervisor.getAllProcessInfo');
    assert.ok(xml.length > 50_000 && xml.length < 70_000, `${xml.length} bytes`);
    const value = specialised(xml);
    assert.ok(Array.isArray(value));
    assert.equal(value.length, 51);
  });

  test('escaped and non-ASCII text in a command decodes the same way', async () => {
    const xml = await rawCall(sup.endpoint, 'supervisor.getAllConfigInfo');
    assert.ok(xml.includes('a&lt;b &amp; c&gt;d'));
    const value = specialised(xml) as Array<{ name: string; command: string }>;
    assert.equal(
      value.find((c) => c.name === 'odd')?.command,
      `sh -c 'echo "a<b & c>d é ✓"; exec sleep 1000'`,
    );
  });
});

describe('on documents the xmlrpc package writes', () => {
  const cases: Record<string, unknown> = {
    'a struct of every type': {
      nil: null,
      bytes: Buffer.from('hi there'),
      double: 1.5,
      negative: -3,
      yes: true,
      no: false,
      empty: '',
      emptyArray: [],
      emptyStruct: {},
      cdata: `x&<>"' ]] ok`,
      nested: [[1, 'two', [{ three: 3 }]]],
    },
    'a bare string': 'plain',
    'an array of strings': ['a', 'b & c', 'd < e'],
  };
  for (const [name, value] of Object.entries(cases)) {
    test(`${name}: both decoders agree`, async () => {
      const xml = serializer.serializeMethodResponse(value);
      assert.deepStrictEqual(specialised(xml), generic(xml));
    });
  }

  test('a fault: both decoders agree', async () => {
    const xml = serializer.serializeFault({ faultCode: 70, faultString: 'NOT_RUNNING: x' });
    assert.deepStrictEqual(specialised(xml), generic(xml));
    assert.deepStrictEqual(decodeResponse(xml), { kind: 'fault', code: 70, faultString: 'NOT_RUNNING: x' });
  });
});

describe('hand-written edge cases', () => {
  const wrap = (value: string) =>
    `<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n${value}\n</param>\n</params>\n</methodResponse>\n`;

  test('untyped values are strings, whitespace kept', () => {
    assert.deepStrictEqual(specialised(wrap('<value> a b </value>')), ' a b ');
  });

  test('numeric character references are resolved', () => {
    assert.deepStrictEqual(
      specialised(wrap('<value><string>&#233;&#x2713;&quot;&apos;</string></value>')),
      'é✓"\'',
    );
  });

  test('i4 is an int and i8 stays a string as in the generic parser', async () => {
    const xml = wrap(
      '<value><array><data><value><i4>7</i4></value><value><i8>9007199254740993</i8></value></data></array></value>',
    );
    assert.deepStrictEqual(specialised(xml), [7, '9007199254740993']);
    assert.deepStrictEqual(specialised(xml), generic(xml));
  });

  test('a member named __proto__ is data, not a prototype', () => {
    const value = specialised(
      wrap(
        '<value><struct><member><name>__proto__</name><value><int>1</int></value></member></struct></value>',
      ),
    ) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.keys(value), ['__proto__']);
  });

  for (const [name, xml] of Object.entries({
    'an empty body': '',
    HTML: '<html><body>500 Internal Server Error</body></html>',
    'a truncated response': wrap('<value><array><data><value><int>1</int></value>').slice(0, -30),
    'a bad boolean': wrap('<value><boolean>yes</boolean></value>'),
    'a bad int': wrap('<value><int>x</int></value>'),
    'an unsupported type': wrap('<value><dateTime.iso8601>20240101T00:00:00</dateTime.iso8601></value>'),
    'two params': wrap('<value><int>1</int></value>\n</param><param><value><int>2</int></value>'),
    'trailing garbage': `${wrap('<value><int>1</int></value>')}<x/>`,
    'a fault without faultCode':
      '<methodResponse><fault><value><struct></struct></value></fault></methodResponse>',
  })) {
    test(`${name} is a DecodeError`, () => {
      assert.throws(() => decodeResponse(xml), DecodeError);
    });
  }

  test('our encoder writes calls the generic parser reads back', () => {
    const xml = encodeCall('supervisor.startProcess', [
      'a & <b>',
      true,
      3,
      [{ methodName: 'x', params: [] }],
    ]);
    const call = genericDecodeCall(xml);
    assert.deepStrictEqual(call, [
      'supervisor.startProcess',
      ['a & <b>', true, 3, [{ methodName: 'x', params: [] }]],
    ]);
  });
});
