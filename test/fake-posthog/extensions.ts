/**
 * Route sets that live in their own files, added to every simulated PostHog (tests, demo,
 * compose). A new file exports a FakeExtension (see protocol.ts) and is listed here.
 */
import { integrationSurface } from './integration-surface';
import type { FakeExtension } from './protocol';

export const EXTENSIONS: FakeExtension[] = [integrationSurface];
