// CRC-32 as the WAL uses it: the standard check value, and the table-driven
// fallback agrees with the native one on random data.

import { expect } from 'chai';
import { crc32, crc32Table } from '../../src/log/crc32';
import { SeededRng } from '../../src/time/rng';

describe('crc32', () => {
  it('gives the standard check value 0xcbf43926 for "123456789"', () => {
    expect(crc32(Buffer.from('123456789'))).to.equal(0xcbf43926);
    expect(crc32Table(Buffer.from('123456789'))).to.equal(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).to.equal(0);
  });

  it('the table and the native implementation agree, and one flipped bit changes the sum', () => {
    const rng = new SeededRng(9);
    for (let n = 0; n < 50; n++) {
      const data = Buffer.from(Array.from({ length: rng.int(1, 2000) }, () => rng.int(0, 256)));
      const sum = crc32(data);
      expect(crc32Table(data)).to.equal(sum);
      data[rng.int(0, data.length)] ^= 1 << rng.int(0, 8);
      expect(crc32(data)).to.not.equal(sum);
    }
  });
});
