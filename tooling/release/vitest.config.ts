import { flotillaVitest } from '../../tooling/vitest.shared.ts';

export default flotillaVitest(import.meta.dirname);
