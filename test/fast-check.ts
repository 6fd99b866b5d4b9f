// fast-check, configured for this repository's properties. Every test imports fc from here.
import fc from "fast-check";

// fast-check 4 sizes arrays and strings "small" (about 10 elements past minLength) unless a test says
// `size: "max"`, whatever maxLength it gives: a property asking for up to 400 Raft actions ran 50-60, and a
// snapshot-file fuzz never reached the header field that threw (src/storage/snapfile.ts). A bound written
// in a test is the range it means.
fc.configureGlobal({ ...fc.readConfigureGlobal(), defaultSizeToMaxWhenMaxSpecified: true });

export default fc;
