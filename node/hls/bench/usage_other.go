//go:build !unix

package bench

import chatbench "github.com/relaymesh/relaymesh/node/chat/bench"

func clientUsage() chatbench.ClientUsage { return chatbench.ClientUsage{} }
