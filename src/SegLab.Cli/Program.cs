Console.WriteLine("seglab");
