// Fixture: what src-shared may import.
import { z } from 'zod';
import { Arch } from './arch';
export const ok = [z, Arch];
