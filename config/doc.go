// Package config is the configuration of one relaymesh node: one YAML file per
// node, defaults in one place (Defaults), strict decoding that reports every
// problem with its field path (Parse), a few per-host environment overrides
// (Load) and semantic validation (Validate).
//
// Precedence is defaults < file < environment, and validation runs once on
// the result, so a problem is reported against the value that would be used.
//
// The file format is documented, field by field, in example.yaml (every field
// with a comment) and in the field comments of types.go. For `relaymesh
// config check FILE`: Load reports the problems, Warnings the advice.
package config
