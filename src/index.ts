// The programmatic API of hep: re-exports only.
export * from './errors.js'
export * from './hep/index.js'
export * from './net/index.js'
