// The fixture kinds maskbit reproduces, each loaded only when a case of that kind runs.

import { registerRunner } from "./runners.js";

void registerRunner;
