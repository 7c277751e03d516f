import { writeErr, programName } from './output.js';

writeErr(`${programName()}: not implemented yet\n`);
process.exit(100);
